/**
 * A test's own HTTP server on 127.0.0.1: listening on a free port before the file's tests, closed
 * (open keep-alive connections too) after them.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after } from 'node:test'

/** Resolves to the server's origin, e.g. `http://127.0.0.1:41234`. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
