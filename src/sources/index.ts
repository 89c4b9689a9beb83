/**
 * @module
 * Every kind of source storehook knows, by the `kind` users write in their config.
 */
import { adobeIoEvents } from './adobe-io-events/index.ts'
import { commerceLayerWebhooks } from './commerce-layer/webhooks.ts'
import type { SourceKind } from './source.ts'
import { standardWebhooks } from './standard-webhooks/index.ts'

export const sourceKinds: Record<string, SourceKind> = {
  [adobeIoEvents.kind]: adobeIoEvents,
  [commerceLayerWebhooks.kind]: commerceLayerWebhooks,
  [standardWebhooks.kind]: standardWebhooks,
}
