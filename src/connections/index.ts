/**
 * @module
 * Every kind of connection storehook knows, by the `kind` users write in their config.
 */
import type { ConnectionKind } from './connection.ts'
import { adobeCommerceConnection } from './adobe-commerce/index.ts'
import { commerceLayerConnection } from './commerce-layer/index.ts'
import { httpConnection } from './http/index.ts'

export const connectionKinds: Record<string, ConnectionKind> = {
  [httpConnection.kind]: httpConnection,
  [adobeCommerceConnection.kind]: adobeCommerceConnection,
  [commerceLayerConnection.kind]: commerceLayerConnection,
}
