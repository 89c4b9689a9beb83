// A stand-in for your ERP: prints what storehook forwards. Run: node examples/quickstart/receiver.ts
// Answers 503 to every third request, so you can watch storehook retry.
import { createServer } from 'node:http'

let count = 0
createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    count += 1
    const status = count % 3 === 0 ? 503 : 200
    console.log(`${req.method} ${req.url} Idempotency-Key: ${req.headers['idempotency-key']} -> ${status}\n  ${body}`)
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status === 200 }))
  })
}).listen(4000, '127.0.0.1', () => console.log('receiver listening on http://127.0.0.1:4000'))
