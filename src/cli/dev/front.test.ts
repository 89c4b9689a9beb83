import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { startFront } from './front.ts'

/** A server that answers with its name and the exact body it received. */
async function backend(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => res.end(`${name}:${Buffer.concat(chunks).toString('utf8')}`))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  after(() => {
    server.closeAllConnections()
    server.close()
  })
  return { port: (server.address() as AddressInfo).port, server }
}

describe('startFront', () => {
  it('holds connections until there is a version, passes bytes unchanged, and sends new connections to the new version', async () => {
    const front = await startFront('127.0.0.1', 0)
    after(() => front.close())
    const one = await backend('one')
    const two = await backend('two')

    // Each on its own connection: a reused keep-alive connection stays with the version it was made to.
    const early = fetch(`${front.url}/`, { method: 'POST', body: '{"a": 1}', headers: { connection: 'close' } })
    await new Promise((resolve) => setTimeout(resolve, 50))
    front.routeTo(one.port)
    assert.equal(await (await early).text(), 'one:{"a": 1}', 'a connection made before routing waited for it')

    front.routeTo(two.port)
    const answer = await fetch(`${front.url}/`, { method: 'POST', body: 'x', headers: { connection: 'close' } })
    assert.equal(await answer.text(), 'two:x')
  })

  it('answers 503 with the reason while nothing can serve', async () => {
    const front = await startFront('127.0.0.1', 0)
    after(() => front.close())
    front.refuse('the project does not load')
    const response = await fetch(`${front.url}/events/x`, { method: 'POST', body: '{}' })
    assert.equal(response.status, 503)
    assert.deepEqual(await response.json(), { error: 'the project does not load' })
  })

  it('refuses a port that is taken', async () => {
    const taken = await backend('taken')
    await assert.rejects(startFront('127.0.0.1', taken.port), { code: 'EADDRINUSE' })
  })
})
