/**
 * The dashboard's pages over real HTTP on 127.0.0.1 with a real SQLite file: the overview, the
 * filters and keyset pagination, a run's attempts, steps, activations and redacted payload, the
 * external resources and actions pages, replays one by one and in bulk with progress, and the live
 * tail.
 */
import assert from 'node:assert/strict'
import { existsSync, rmSync } from 'node:fs'
import { describe, it } from 'node:test'
import { DEMO_SECRETS, sendDemoEvent } from './browser/demo-project.ts'
import { seededDashboard } from './browser/seeded.ts'
import { eventually } from './helpers.ts'

const { url, store, project, tag, deadRuns, session, request } = await seededDashboard()

describe('pages', () => {
  it('the overview counts runs by state, charts the hour and lists the external resource and the connection', async () => {
    const page = (await request('/admin')).text
    const dead = (await store.countRunsByState()).dead
    assert.match(page, new RegExp(`id="count-dead"><span class="n">${dead}</span>`))
    assert.match(page, /id="events-chart" data-total="\d+"/)
    assert.match(page, /webhooks \(\d+\)/)
    assert.match(page, /href="\/admin\/external\?resource=price">price</)
    assert.match(page, /<strong>erp<\/strong>/)
  })

  it('the runs page filters by state and free text, and the run page shows the error and its stack', async () => {
    const list = (await request(`/admin/runs?state=dead&q=pay_${tag}_2`)).text
    const ids = [...list.matchAll(/href="\/admin\/runs\/(\d+)">#/g)].map((m) => Number(m[1]))
    assert.equal(ids.length, 1)
    const page = (await request(`/admin/runs/${ids[0]}`)).text
    assert.match(page, /payment service rejected pay_\w+_2: unknown currency/)
    assert.match(page, /<summary>Stack<\/summary><pre>PermanentError: payment service rejected/)
    assert.match(page, /Outbound calls<\/h2>[\s\S]*No HTTP request sent through a connection/)
    assert.match(page, /data-state="dead"/)
  })

  it('the run page lists the durable steps with their results, redacted', async () => {
    const [run] = await store.listRuns({ eventIdContains: `ord_${tag}_1` })
    const page = (await request(`/admin/runs/${run!.id}`)).text
    assert.match(page, /<code>read the order<\/code>[\s\S]*&quot;access_token&quot;: &quot;\[redacted\]&quot;/)
    assert.match(page, /<code>send to the ERP<\/code>[\s\S]*<pre class="json">200<\/pre>/)
    assert.ok(!page.includes('step-token-not-shown'))
  })

  it('the run page shows App Builder activations: status, console output and result, with secrets scrubbed', async () => {
    const run = (await store.listRuns({ state: 'dead', eventIdContains: `pay_${tag}_3` }))[0]!
    await store.recordActivation!({
      activationId: `act${tag}`,
      action: 'my-app/payment',
      cause: 'event',
      start: Date.now() - 20,
      end: Date.now(),
      status: 'application error',
      result: { statusCode: 502, body: { error: 'gateway said no' }, api_key: 'activation-key-not-shown' },
      logs: [`2025-01-31T09:00:00.000Z stdout: calling the gateway`, `2025-01-31T09:00:00.010Z stderr: login with ${DEMO_SECRETS.erpPassword} failed`],
      leftWork: false,
      runId: run.id,
      attempt: 1,
    })
    const page = (await request(`/admin/runs/${run.id}`)).text
    assert.match(page, /<h2>Activations<\/h2>[\s\S]*my-app\/payment[\s\S]*application error/)
    assert.match(page, /stdout: calling the gateway\n2025-01-31T09:00:00.010Z stderr: login with \[redacted\] failed/)
    assert.match(page, /&quot;api_key&quot;: &quot;\[redacted\]&quot;/)
    assert.ok(!page.includes('activation-key-not-shown'))
  })

  it('pages events newest first with a keyset link to older ones', async () => {
    await store.ingest(Array.from({ length: 55 }, (_, i) => ({ source: 'shop', event: { id: `page_${tag}_${String(i).padStart(2, '0')}`, type: 'stock.changed', payload: {}, headers: {} }, runs: [] })))
    const first = (await request(`/admin/events?q=page_${tag}`)).text
    const shown = (text: string) => [...text.matchAll(new RegExp(`>page_${tag}_(\\d\\d)<`, 'g'))].map((m) => m[1])
    assert.equal(shown(first).length, 50)
    assert.equal(shown(first)[0], '54')
    const older = /<a rel="next" href="([^"]+)">/.exec(first)![1]!.replaceAll('&amp;', '&')
    assert.match(older, /before=\d+/)
    assert.deepEqual(shown((await request(older)).text), ['04', '03', '02', '01', '00'])
  })

  it('the actions page says what is loaded, from where, subscribed to what', async () => {
    const page = (await request('/admin/actions')).text
    assert.match(page, /<strong>fragile<\/strong>[\s\S]*actions\/fragile\.ts[\s\S]*payment\.\*[\s\S]*shop/)
    assert.match(page, /<strong>forward<\/strong>[\s\S]*order\.\*/)
  })

  it('the external page shows each call against the deadline and the fallback used', async () => {
    const page = (await request('/admin/external?resource=price')).text
    assert.match(page, /Deadline<\/dt><dd>300 ms/)
    assert.match(page, /<span class="badge warn">static<\/span>/)
    assert.match(page, /badge bad">timeout</)
    assert.match(page, /0 of 31 failures before the circuit opens|failures in a row/)
  })
})

describe('replay', () => {
  it('replays one run from its page (htmx), and the new run is linked', async () => {
    const response = await request(`/admin/runs/${deadRuns[0]}/replay`, { method: 'POST', headers: { 'hx-request': 'true', 'x-csrf-token': session.csrf } })
    assert.equal(response.status, 201)
    const id = Number(/id="replay-link" href="\/admin\/runs\/(\d+)"/.exec(response.text)?.[1])
    const replay = await store.getRun(id)
    assert.equal(replay?.replayOf, deadRuns[0])
    // The action is still broken: the replay dies too (and is replayed again in bulk below).
    await eventually(async () => (await store.getRun(id))?.state === 'dead', 10_000, 'the replay to go dead')
  })

  it('bulk: confirms how many dead runs match, then replays them with progress until done', async () => {
    rmSync(project.flag)
    assert.ok(!existsSync(project.flag))
    const confirm = (await request(`/admin/runs/replay?type=payment.captured&q=pay_${tag}&range=1h`)).text
    assert.match(confirm, /Replay 4 dead runs<\/strong>/)
    const fields = new URLSearchParams([...confirm.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!] as [string, string]))
    assert.equal(fields.get('type'), 'payment.captured')
    assert.match(fields.get('since')!, /^\d+$/, 'the relative range is fixed at confirmation')
    const started = await request('/admin/runs/replay', { method: 'POST', body: fields })
    assert.equal(started.status, 303)
    const progress = started.headers.get('location')!
    const done = (await eventually(async () => {
      const text = (await request(progress)).text
      return /data-state="done"/.test(text) ? text : null
    }, 10_000, 'the bulk replay to finish')) as string
    assert.match(done, /<progress max="4" value="4"/)
    assert.match(done, /3 of 4 dead runs replayed \(1 had been replayed already\)/)
    await eventually(async () => (await store.listRuns({ state: 'succeeded', eventIdContains: `pay_${tag}` })).length === 3, 10_000, 'every replay to succeed')
  })
})

describe('live tail', () => {
  it('streams the rows of new events matching the filter', async () => {
    const newest = (await store.listEvents({ limit: 1 }))[0]!.seq
    const controller = new AbortController()
    const response = await fetch(`${url}/admin/tail?source=webhooks&after=${newest}`, { headers: { cookie: session.cookie }, signal: controller.signal })
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type')!, /text\/event-stream/)
    const reader = response.body!.getReader()
    let text = ''
    await sendDemoEvent(url, 'shop', { id: `tail_${tag}_shop`, type: 'order.created' })
    await sendDemoEvent(url, 'webhooks', { id: `tail_${tag}_hook`, type: 'order.created' })
    try {
      await eventually(async () => {
        text += new TextDecoder().decode((await reader.read()).value)
        return text.includes(`tail_${tag}_hook`)
      }, 10_000, 'the tail to send the new event')
    } finally {
      controller.abort()
    }
    assert.match(text, /event: row\ndata: <tr class="fresh">/)
    assert.ok(!text.includes(`tail_${tag}_shop`), 'the other source is filtered out')
  })
})
