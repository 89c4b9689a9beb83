/**
 * Reading App Builder manifests: the fixture projects under test/fixtures/app-builder-manifest/
 * (an app with an `$include`d extension point, a legacy manifest.yml), and throwaway projects in
 * temp dirs for each mistake a user can make, checking the error names file, line and YAML path.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, describe, it } from 'node:test'
import { ConfigError } from '../../core/errors.ts'
import { hasAppBuilderManifest, readAppBuilderManifest } from './manifest.ts'
import type { AppBuilderAction } from './types.ts'

const FIXTURES = new URL('../../../test/fixtures/app-builder-manifest/', import.meta.url).pathname
const FULL = join(FIXTURES, 'full')

/** A throwaway project: path → content; removed after this file's tests. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'storehook-manifest-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

/** The 1-based line of `file`'s content holding `needle` (the first one, or the nth). */
function lineOf(content: string, needle: string, nth = 1): number {
  let seen = 0
  const lines = content.split('\n')
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(needle) && ++seen === nth) return i + 1
  throw new Error(`"${needle}" not in content`)
}

/** Asserts reading `dir` throws a ConfigError whose message starts with `prefix` and contains each of `parts`. */
function assertConfigError(dir: string, prefix: string, ...parts: string[]): void {
  assert.throws(
    () => readAppBuilderManifest(dir, {}),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
      assert.ok(error.message.startsWith(prefix), `message does not start with ${JSON.stringify(prefix)}:\n${error.message}`)
      for (const part of parts) assert.ok(error.message.includes(part), `message lacks ${JSON.stringify(part)}:\n${error.message}`)
      return true
    },
  )
}

/** An app.config.yaml with one package `my-app` holding `actions` (YAML, indented under `actions:`). */
function appConfig(actions: string, rest = ''): string {
  return `application:\n  runtimeManifest:\n    packages:\n      my-app:\n        actions:\n${actions}${rest}`
}
const ORDER = '          order:\n            function: actions/order.js\n            runtime: nodejs:22\n'

describe('readAppBuilderManifest on a project with an included extension point', () => {
  const manifest = readAppBuilderManifest(FULL, { ERP_URL: 'https://erp.from-env.example' })
  const action = (fullName: string): AppBuilderAction => {
    const found = manifest.actions.find((a) => a.fullName === fullName)
    assert.ok(found, `no action ${fullName} in ${manifest.actions.map((a) => a.fullName).join(', ')}`)
    return found
  }

  it('lists every manifest file read, relative to the project', () => {
    assert.equal(manifest.dir, FULL.replace(/\/$/, ''))
    assert.deepEqual(manifest.files, ['app.config.yaml', 'src/commerce-backend-ui-1/ext.config.yaml'])
  })

  it('collects the actions of the application and of the extension, in declaration order', () => {
    assert.deepEqual(
      manifest.actions.map((a) => [a.fullName, a.package, a.name, a.declaredIn]),
      [
        ['shop/order-consumer', 'shop', 'order-consumer', 'app.config.yaml'],
        ['shop/stock', 'shop', 'stock', 'app.config.yaml'],
        ['shop/hello', 'shop', 'hello', 'app.config.yaml'],
        ['shop/sync', 'shop', 'sync', 'app.config.yaml'],
        ['admin-ui/registration', 'admin-ui', 'registration', 'src/commerce-backend-ui-1/ext.config.yaml'],
        ['admin-ui/product-sync', 'admin-ui', 'product-sync', 'src/commerce-backend-ui-1/ext.config.yaml'],
      ],
    )
  })

  it('resolves function paths: CJS and ESM files, a directory by its package.json main or index.js, relative to the declaring file', () => {
    assert.equal(action('shop/order-consumer').file, join(FULL, 'actions/order/index.js'))
    assert.equal(action('shop/stock').file, join(FULL, 'actions/stock/stock.cjs'))
    assert.equal(action('shop/hello').file, join(FULL, 'actions/hello/hello.mjs'))
    assert.equal(action('shop/sync').file, join(FULL, 'actions/sync/lib/sync.js'))
    // ext.config.yaml says actions/menu/index.js: relative to its own folder, not to the project.
    assert.equal(action('admin-ui/registration').file, join(FULL, 'src/commerce-backend-ui-1/actions/menu/index.js'))
    assert.equal(action('admin-ui/product-sync').file, join(FULL, 'src/commerce-backend-ui-1/actions/lib/index.js'))
  })

  it('merges package inputs under action inputs and substitutes $VAR, ${VAR}, embedded, unset and nested', () => {
    assert.deepEqual(action('shop/order-consumer').inputs, {
      LOG_LEVEL: 'debug', // the action's own wins over the package's info
      COMMERCE_BASE_URL: 'https://shop.example/rest/', // package input, from .env
      ERP_URL: 'https://erp.from-env.example/orders', // the environment wins over .env
      ERP_TOKEN: 'dotenv-token', // only in .env
      MISSING: '', // unset: '' as in production
      nested: { url: 'https://shop.example/rest/', list: ['https://erp.from-env.example', 7, true] },
    })
    assert.deepEqual(action('shop/stock').inputs, { LOG_LEVEL: 'info', COMMERCE_BASE_URL: 'https://shop.example/rest/' })
    assert.deepEqual(action('admin-ui/registration').inputs, { SHARED: 'from-package' })
    assert.deepEqual(action('admin-ui/product-sync').inputs, { SHARED: 'from-action' })
  })

  it('does not set process.env from .env', () => {
    assert.equal(process.env.ERP_TOKEN, undefined)
    assert.equal(process.env.COMMERCE_BASE_URL, undefined)
  })

  it('reads web, raw-http, final, require-adobe-auth, runtime and timeout', () => {
    const flags = (a: AppBuilderAction) => ({ web: a.web, rawHttp: a.rawHttp, final: a.final, requireAdobeAuth: a.requireAdobeAuth, timeoutMs: a.timeoutMs, runtime: a.runtime })
    assert.deepEqual(flags(action('shop/order-consumer')), { web: false, rawHttp: false, final: true, requireAdobeAuth: false, timeoutMs: 300_000, runtime: 'nodejs:22' })
    assert.deepEqual(flags(action('shop/stock')), { web: true, rawHttp: false, final: false, requireAdobeAuth: true, timeoutMs: 60_000, runtime: 'nodejs:20' })
    // web: raw
    assert.deepEqual(flags(action('shop/hello')), { web: true, rawHttp: true, final: false, requireAdobeAuth: false, timeoutMs: 60_000, runtime: 'nodejs:22' })
    // annotations web-export: true and raw-http: true
    assert.deepEqual(flags(action('shop/sync')), { web: true, rawHttp: true, final: false, requireAdobeAuth: false, timeoutMs: 60_000, runtime: 'nodejs:22' })
  })

  it('binds runtime_action registrations with event codes flattened across events_of_interest, duplicates dropped', () => {
    assert.deepEqual(manifest.registrations, [
      {
        name: 'Order events',
        description: 'Orders placed in Commerce',
        eventCodes: ['com.adobe.commerce.observer.sales_order_save_after', 'com.adobe.commerce.observer.sales_order_invoice_save_after'],
        action: 'shop/order-consumer',
        declaredIn: 'app.config.yaml',
      },
      {
        name: 'Product events',
        description: 'Product saves',
        eventCodes: ['com.adobe.commerce.observer.catalog_product_save_after'],
        action: 'admin-ui/product-sync',
        declaredIn: 'src/commerce-backend-ui-1/ext.config.yaml',
      },
    ])
  })

  it('returns webhook_url and journal registrations as skipped, with a reason to log', () => {
    const skipped = manifest.skippedRegistrations ?? []
    assert.deepEqual(
      skipped.map((s) => [s.name, s.eventCodes, s.declaredIn]),
      [
        ['Forwarded to partner', ['com.adobe.commerce.observer.customer_save_after'], 'src/commerce-backend-ui-1/ext.config.yaml'],
        ['Kept in journal', ['com.adobe.commerce.observer.sales_order_shipment_save_after'], 'src/commerce-backend-ui-1/ext.config.yaml'],
      ],
    )
    assert.match(skipped[0]!.reason, /"Forwarded to partner" is not bound: it delivers to its webhook_url/)
    assert.match(skipped[1]!.reason, /"Kept in journal" is not bound: .*journal/)
    // The webhook URL may carry a token: it is not repeated in what gets logged.
    assert.ok(!JSON.stringify(skipped).includes('partner.example'))
  })
})

describe('readAppBuilderManifest: other layouts', () => {
  it('reads a legacy manifest.yml, naming __APP_PACKAGE__ after package.json', () => {
    const manifest = readAppBuilderManifest(join(FIXTURES, 'legacy'), {})
    assert.deepEqual(manifest.files, ['manifest.yml'])
    assert.deepEqual(
      manifest.actions.map((a) => [a.fullName, a.file, a.web, a.declaredIn]),
      [['legacy-app-1.2.3/generic', join(FIXTURES, 'legacy/actions/generic.js'), true, 'manifest.yml']],
    )
  })

  it('ignores manifest.yml when app.config.yaml has application.runtimeManifest, as aio does', () => {
    const dir = project({ 'app.config.yaml': appConfig(ORDER), 'actions/order.js': '', 'manifest.yml': 'packages: {broken: 1}\n' })
    const manifest = readAppBuilderManifest(dir, {})
    assert.deepEqual(manifest.files, ['app.config.yaml'])
    assert.deepEqual(manifest.actions.map((a) => a.fullName), ['my-app/order'])
  })

  it('follows nested includes, keys beside $include winning, and resolves YAML merge keys', () => {
    const dir = project({
      'app.config.yaml': 'application:\n  $include: app/app.yaml\n  runtimeManifest:\n    $include: app/manifest.yaml\n',
      'app/app.yaml': 'runtimeManifest:\n  packages: {}\n',
      'app/manifest.yaml': [
        'common: &common',
        '  LOG_LEVEL: info',
        '  REGION: eu',
        'packages:',
        '  p:',
        '    actions:',
        '      a:',
        '        $include: actions/a.yaml',
        '        inputs:',
        '          <<: *common',
        '          REGION: us',
        '',
      ].join('\n'),
      'app/actions/a.yaml': 'function: a.js\nruntime: nodejs:22\ninputs: {IGNORED: x}\n',
      'app/actions/a.js': '',
    })
    const manifest = readAppBuilderManifest(dir, {})
    assert.deepEqual(manifest.files, ['app.config.yaml', 'app/app.yaml', 'app/manifest.yaml', 'app/actions/a.yaml'])
    const [action] = manifest.actions
    assert.equal(action?.fullName, 'p/a')
    assert.equal(action?.file, join(dir, 'app/actions/a.js')) // relative to a.yaml, which writes `function`
    assert.deepEqual(action?.inputs, { LOG_LEVEL: 'info', REGION: 'us' })
    assert.equal(action?.declaredIn, 'app/manifest.yaml')
  })

  it('accepts the timeout bounds I/O Runtime accepts, and reads yes/no/true/false flags', () => {
    const dir = project({
      'app.config.yaml': appConfig(
        '          lo:\n            function: a.js\n            web: true\n            limits: {timeout: 100}\n            annotations: {final: "true", require-adobe-auth: "yes"}\n' +
          '          hi:\n            function: a.js\n            web: "no"\n            limits: {timeout: 10800000}\n            annotations: {raw-http: true, final: false}\n',
      ),
      'a.js': '',
    })
    const [lo, hi] = readAppBuilderManifest(dir, {}).actions
    assert.deepEqual([lo?.timeoutMs, lo?.web, lo?.final, lo?.requireAdobeAuth, lo?.runtime], [100, true, true, true, 'nodejs:default'])
    // raw-http means nothing for a non-web action
    assert.deepEqual([hi?.timeoutMs, hi?.web, hi?.rawHttp, hi?.final], [10_800_000, false, false, false])
  })

  it('hasAppBuilderManifest sees app.config.yaml or manifest.yml', () => {
    assert.equal(hasAppBuilderManifest(FULL), true)
    assert.equal(hasAppBuilderManifest(join(FIXTURES, 'legacy')), true)
    assert.equal(hasAppBuilderManifest(project({ 'storehook.config.ts': '' })), false)
  })
})

describe('readAppBuilderManifest errors', () => {
  it('a missing function file: names the file, line, YAML path and the path', () => {
    const config = appConfig(ORDER)
    const dir = project({ 'app.config.yaml': config })
    assertConfigError(
      dir,
      `app.config.yaml:${lineOf(config, 'function:')}: application.runtimeManifest.packages.my-app.actions.order.function: actions/order.js does not exist`,
    )
  })

  it('a missing function file in an included ext.config.yaml: names that file and its own path', () => {
    const ext = 'runtimeManifest:\n  packages:\n    ext-pkg:\n      actions:\n        menu:\n          function: actions/menu.js\n'
    const dir = project({
      'app.config.yaml': 'extensions:\n  commerce/backend-ui/1:\n    $include: src/ext/ext.config.yaml\n',
      'src/ext/ext.config.yaml': ext,
      'actions/menu.js': '', // at the project root: must not be found, the path is relative to ext.config.yaml
    })
    assertConfigError(
      dir,
      `src/ext/ext.config.yaml:${lineOf(ext, 'function:')}: runtimeManifest.packages.ext-pkg.actions.menu.function: actions/menu.js (src/ext/actions/menu.js) does not exist`,
    )
  })

  it('a directory function without index.js, or whose package.json main is missing', () => {
    const config = appConfig('          order:\n            function: actions/order\n')
    assertConfigError(project({ 'app.config.yaml': config, 'actions/order/other.js': '' }), 'app.config.yaml:', 'actions.order.function: actions/order is a directory, but its index.js does not exist')
    assertConfigError(
      project({ 'app.config.yaml': config, 'actions/order/package.json': '{"main": "dist/main.js"}', 'actions/order/index.js': '' }),
      'app.config.yaml:',
      'package.json main "dist/main.js" does not exist',
    )
  })

  it('a missing function field', () => {
    const config = appConfig('          order:\n            runtime: nodejs:22\n')
    assertConfigError(project({ 'app.config.yaml': config }), `app.config.yaml:${lineOf(config, 'order:')}: application.runtimeManifest.packages.my-app.actions.order.function: missing`)
  })

  it('an unknown runtime_action: lists the declared actions', () => {
    const events = "\n  events:\n    registrations:\n      Orders:\n        events_of_interest:\n          - provider_metadata: dx_commerce_events\n            event_codes: [com.adobe.commerce.observer.sales_order_save_after]\n        runtime_action: my-app/ordr\n"
    const config = appConfig(ORDER, events)
    const dir = project({ 'app.config.yaml': config, 'actions/order.js': '' })
    assertConfigError(
      dir,
      `app.config.yaml:${lineOf(config, 'runtime_action:')}: application.events.registrations.Orders.runtime_action: "my-app/ordr" is not an action of this project`,
      'one of: my-app/order',
    )
  })

  it('a registration without event codes', () => {
    const events = '\n  events:\n    registrations:\n      Orders:\n        events_of_interest:\n          - provider_metadata: dx_commerce_events\n        runtime_action: my-app/order\n'
    const dir = project({ 'app.config.yaml': appConfig(ORDER, events), 'actions/order.js': '' })
    assertConfigError(dir, 'app.config.yaml:', 'application.events.registrations.Orders.events_of_interest[0].event_codes: expected a non-empty list of event codes')
  })

  it('a duplicate action across app.config.yaml and ext.config.yaml: names both files', () => {
    const ext = 'runtimeManifest:\n  packages:\n    my-app:\n      actions:\n        order:\n          function: ../../actions/order.js\n'
    const config = appConfig(ORDER, '\nextensions:\n  dx/excshell/1:\n    $include: src/ext/ext.config.yaml\n')
    const dir = project({ 'app.config.yaml': config, 'src/ext/ext.config.yaml': ext, 'actions/order.js': '' })
    assertConfigError(
      dir,
      'action "my-app/order" is declared twice: ',
      `at app.config.yaml:${lineOf(config, 'order:')}: application.runtimeManifest.packages.my-app.actions.order`,
      `at src/ext/ext.config.yaml:${lineOf(ext, 'order:')}: runtimeManifest.packages.my-app.actions.order`,
    )
  })

  it('a duplicate registration name across files', () => {
    const registration = (indent: string) =>
      `${indent}registrations:\n${indent}  Orders:\n${indent}    events_of_interest: [{provider_metadata: p, event_codes: [c]}]\n${indent}    runtime_action: my-app/order\n`
    const dir = project({
      'app.config.yaml': appConfig(ORDER, `\n  events:\n${registration('    ')}extensions:\n  dx/excshell/1:\n    $include: ext.config.yaml\n`),
      'ext.config.yaml': `events:\n${registration('  ')}`,
      'actions/order.js': '',
    })
    assertConfigError(dir, 'event registration "Orders" is declared twice: at app.config.yaml:', 'and at ext.config.yaml:')
  })

  it('an include cycle: shows the chain', () => {
    const dir = project({
      'app.config.yaml': 'application:\n  $include: a/a.yaml\n',
      'a/a.yaml': 'runtimeManifest:\n  $include: ../b.yaml\n',
      'b.yaml': 'packages:\n  $include: a/a.yaml\n',
    })
    assertConfigError(dir, 'b.yaml:2: packages.$include: $include cycle: app.config.yaml → a/a.yaml → b.yaml → a/a.yaml')
  })

  it('an include of a missing file, or of something other than a mapping', () => {
    assertConfigError(project({ 'app.config.yaml': 'application:\n  $include: nope.yaml\n' }), 'app.config.yaml:2: application.$include: nope.yaml does not exist')
    assertConfigError(project({ 'app.config.yaml': 'application:\n  $include: list.yaml\n', 'list.yaml': '- a\n- b\n' }), 'list.yaml: expected a mapping', 'found a list')
    assertConfigError(project({ 'app.config.yaml': 'application:\n  $include: 3\n' }), 'app.config.yaml:2: application.$include: expected the path of a YAML file')
  })

  it('bad YAML: names the file, line and column, in app.config.yaml or an included file', () => {
    assertConfigError(project({ 'app.config.yaml': 'application:\n  runtimeManifest:\n    packages: [a, b\n  other: 1\n' }), 'app.config.yaml:4:3: invalid YAML: ')
    assertConfigError(
      project({ 'app.config.yaml': 'application:\n  $include: ext.yaml\n', 'ext.yaml': 'runtimeManifest:\n  a: 1\n  a: 2\n' }),
      'ext.yaml:3:3: invalid YAML: Map keys must be unique',
    )
  })

  it('a timeout outside 100 ms – 3 h, or not whole milliseconds', () => {
    for (const timeout of ['50', '10800001', '1.5', '"60000"', '-1']) {
      const config = appConfig(ORDER.replace('runtime: nodejs:22\n', `runtime: nodejs:22\n            limits:\n              timeout: ${timeout}\n`))
      assertConfigError(
        project({ 'app.config.yaml': config, 'actions/order.js': '' }),
        `app.config.yaml:${lineOf(config, 'timeout:')}: application.runtimeManifest.packages.my-app.actions.order.limits.timeout: expected whole milliseconds from 100 to 10800000`,
        `got ${timeout.startsWith('"') ? timeout : Number(timeout)}`,
      )
    }
  })

  it('a web, final or annotation value that is not a yes/no', () => {
    const web = appConfig(ORDER.replace('runtime: nodejs:22\n', 'runtime: nodejs:22\n            web: maybe\n'))
    assertConfigError(project({ 'app.config.yaml': web, 'actions/order.js': '' }), `app.config.yaml:${lineOf(web, 'web:')}: application.runtimeManifest.packages.my-app.actions.order.web: expected true or false (or yes/no/raw), got "maybe"`)
    const auth = appConfig(ORDER.replace('runtime: nodejs:22\n', 'runtime: nodejs:22\n            annotations:\n              require-adobe-auth: 1\n'))
    assertConfigError(project({ 'app.config.yaml': auth, 'actions/order.js': '' }), 'app.config.yaml:', 'actions.order.annotations.require-adobe-auth: expected true or false')
  })

  it('what storehook cannot run: another runtime, docker, sequences', () => {
    const python = appConfig(ORDER.replace('nodejs:22', 'python:3'))
    assertConfigError(project({ 'app.config.yaml': python, 'actions/order.js': '' }), 'app.config.yaml:', 'actions.order.runtime: "python:3" is not supported: storehook runs Node.js actions only')
    const docker = appConfig(ORDER.replace('runtime: nodejs:22\n', 'docker: acme/action\n'))
    assertConfigError(project({ 'app.config.yaml': docker, 'actions/order.js': '' }), 'app.config.yaml:', 'actions.order.docker: docker actions are not supported')
    const sequence = appConfig(ORDER, '        sequences:\n          both:\n            actions: order, order\n')
    assertConfigError(project({ 'app.config.yaml': sequence, 'actions/order.js': '' }), 'app.config.yaml:', 'packages.my-app.sequences: sequences are not supported')
  })

  it('a project without a manifest, or an app.config.yaml with neither application nor extensions', () => {
    assertConfigError(project({ 'README.md': '' }), '', 'no app.config.yaml (nor a legacy manifest.yml): not an App Builder project')
    assertConfigError(project({ 'app.config.yaml': 'hooks: {}\n' }), 'app.config.yaml: expected `application` or `extensions`')
    assertConfigError(project({ 'app.config.yaml': '' }), 'app.config.yaml: expected a mapping', 'found an empty file')
  })

  it('a wrong shape: a list where a mapping belongs', () => {
    const config = 'application:\n  runtimeManifest:\n    packages:\n      - my-app\n'
    assertConfigError(project({ 'app.config.yaml': config }), 'app.config.yaml:3: application.runtimeManifest.packages: expected a mapping (key: value lines), got a list')
  })

  it('a package or action name OpenWhisk would refuse', () => {
    const config = "application:\n  runtimeManifest:\n    packages:\n      'my/app':\n        actions: {}\n"
    assertConfigError(project({ 'app.config.yaml': config }), "app.config.yaml:4: application.runtimeManifest.packages.my/app: \"my/app\" is not a valid package name")
    const action = appConfig("          'order?':\n            function: a.js\n")
    assertConfigError(project({ 'app.config.yaml': action, 'a.js': '' }), 'app.config.yaml:6: ', 'actions.order?: "order?" is not a valid action name')
  })

  it('a recursive YAML alias', () => {
    assertConfigError(project({ 'app.config.yaml': 'application: &a\n  self: *a\n' }), 'app.config.yaml:2: application.self: a YAML alias refers to a node that contains it')
  })
})
