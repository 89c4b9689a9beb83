/**
 * @module
 * The simulator's resources, and how they are written out as JSON:API the way Commerce Layer
 * writes them (reference/commerce-layer.md §2, the captured `customers.create` sample in
 * `@commercelayer/sdk-utils`): `{id, type, links: {self}, attributes, relationships, meta}`;
 * every relationship has `links.self` and `links.related`, and carries `data` (the linkage) only
 * when it was included; `included` holds each related resource once; `meta` is
 * `{mode, organization_id}`. Callback payloads use relative links (`/api/orders/ID`), the REST
 * API absolute ones.
 */
import { randomBytes } from 'node:crypto'

/** A reference from one resource to another. */
export interface Ref {
  type: string
  id: string
}

export interface StoredResource {
  type: string
  id: string
  /** Mutable: the simulator changes attributes as Commerce Layer would (breaker fields, prices…). */
  attributes: Record<string, unknown>
  relationships: Record<string, Ref | Ref[] | null>
}

/** A resource as written out. */
export interface JsonApiResourceObject {
  id: string
  type: string
  links: { self: string }
  attributes: Record<string, unknown>
  relationships: Record<string, { links: { self: string; related: string }; data?: Ref | Ref[] | null }>
  meta: { mode: 'test' | 'live'; organization_id: string }
}

export interface JsonApiDocumentObject {
  data: JsonApiResourceObject | JsonApiResourceObject[]
  included?: JsonApiResourceObject[]
  meta?: Record<string, unknown>
  links?: Record<string, string>
}

export interface SerializeOptions {
  /** Relationship paths to include, e.g. `['order', 'order.line_items.item']`. */
  include?: readonly string[]
  /** Sparse fieldsets: only these attributes of these types. */
  fields?: Readonly<Record<string, readonly string[]>>
  /** Prefix of every link: `''` for callback payloads (`/api/…`), the API's origin for REST answers. */
  linkBase: string
}

/** A Commerce Layer id: 10 letters, e.g. `xYZkjABcde`. */
export function newId(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
  return [...randomBytes(10)].map((byte) => letters[byte % letters.length]).join('')
}

export class ResourceStore {
  readonly #byType = new Map<string, Map<string, StoredResource>>()
  readonly #meta: JsonApiResourceObject['meta']
  readonly #now: () => number

  constructor(meta: JsonApiResourceObject['meta'], now: () => number) {
    this.#meta = meta
    this.#now = now
  }

  /** Adds a resource with the attributes every resource has (`created_at`, `updated_at`, `reference`, `metadata`). */
  add(type: string, attributes: Record<string, unknown>, relationships: Record<string, Ref | Ref[] | null> = {}): StoredResource {
    const at = new Date(this.#now()).toISOString()
    const resource: StoredResource = {
      type,
      id: newId(),
      attributes: { ...attributes, created_at: at, updated_at: at, reference: null, reference_origin: null, metadata: {}, ...pick(attributes, ['metadata', 'reference']) },
      relationships,
    }
    this.#table(type).set(resource.id, resource)
    return resource
  }

  get(type: string, id: string): StoredResource | undefined {
    return this.#byType.get(type)?.get(id)
  }

  list(type: string): StoredResource[] {
    return [...(this.#byType.get(type)?.values() ?? [])]
  }

  remove(type: string, id: string): boolean {
    return this.#byType.get(type)?.delete(id) ?? false
  }

  /** Changes attributes and stamps `updated_at`, as every write does. */
  update(resource: StoredResource, attributes: Record<string, unknown>): void {
    Object.assign(resource.attributes, attributes, { updated_at: new Date(this.#now()).toISOString() })
  }

  /** Adds `ref` to a to-many relationship. */
  link(resource: StoredResource, name: string, ref: Ref): void {
    const current = resource.relationships[name]
    resource.relationships[name] = Array.isArray(current) ? [...current, ref] : [ref]
  }

  /** The resources `name` points at from `resource` (dangling references are left out). */
  follow(resource: StoredResource, name: string): StoredResource[] {
    const target = resource.relationships[name]
    const refs = target == null ? [] : Array.isArray(target) ? target : [target]
    return refs.map((ref) => this.get(ref.type, ref.id)).filter((found): found is StoredResource => found !== undefined)
  }

  /**
   * The JSON:API document for `primary` with the `include` paths resolved.
   *
   * @example
   * store.serialize(order, { include: ['line_items', 'line_items.item'], linkBase: '' })
   * // { data: { id, type: 'orders', …, relationships: { line_items: { links, data: [{ type: 'line_items', id }] }, … } }, included: [ …line items, skus ] }
   */
  serialize(primary: StoredResource | StoredResource[], options: SerializeOptions): JsonApiDocumentObject {
    const primaries = Array.isArray(primary) ? primary : [primary]
    const linked = new Map<StoredResource, Set<string>>()
    const included: StoredResource[] = []
    const seen = new Set(primaries.map(key))
    for (const path of options.include ?? []) {
      let current = primaries
      for (const name of path.split('.')) {
        const next: StoredResource[] = []
        for (const resource of current) {
          if (!(name in resource.relationships)) continue
          let names = linked.get(resource)
          if (!names) linked.set(resource, (names = new Set()))
          names.add(name)
          for (const target of this.follow(resource, name)) {
            next.push(target)
            if (!seen.has(key(target))) {
              seen.add(key(target))
              included.push(target)
            }
          }
        }
        current = next
      }
    }
    const write = (resource: StoredResource): JsonApiResourceObject => this.#write(resource, linked.get(resource), options)
    const document: JsonApiDocumentObject = { data: Array.isArray(primary) ? primaries.map(write) : write(primaries[0] as StoredResource) }
    if (options.include !== undefined && options.include.length > 0) document.included = included.map(write)
    return document
  }

  #write(resource: StoredResource, linked: Set<string> | undefined, options: SerializeOptions): JsonApiResourceObject {
    const self = `${options.linkBase}/api/${resource.type}/${resource.id}`
    const only = options.fields?.[resource.type]
    const attributes = only ? pick(resource.attributes, only) : { ...resource.attributes }
    const relationships: JsonApiResourceObject['relationships'] = {}
    for (const [name, target] of Object.entries(resource.relationships)) {
      const relationship: JsonApiResourceObject['relationships'][string] = { links: { self: `${self}/relationships/${name}`, related: `${self}/${name}` } }
      if (linked?.has(name)) relationship.data = target
      relationships[name] = relationship
    }
    return { id: resource.id, type: resource.type, links: { self }, attributes: structuredClone(attributes), relationships, meta: { ...this.#meta } }
  }

  #table(type: string): Map<string, StoredResource> {
    let table = this.#byType.get(type)
    if (!table) this.#byType.set(type, (table = new Map()))
    return table
  }
}

function key(resource: Ref): string {
  return `${resource.type}/${resource.id}`
}

function pick(source: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((name) => name in source).map((name) => [name, source[name]]))
}
