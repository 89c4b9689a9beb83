/**
 * @module
 * What a storehook project imports: `import { defineConfig, env, onEvent } from 'storehook'`, and
 * for external resources `import { commerceLayer, ExternalResourceError } from 'storehook'`.
 */
export { defineConfig, env } from './runtime/config.ts'
export type { ProjectConfig, SourceConfig, ConnectionConfig } from './runtime/config.ts'
export { onEvent } from './runtime/action.ts'
export { onCron } from './runtime/cron-action.ts'
export type { CronOptions, CronPayload } from './runtime/cron-action.ts'
export type { ScheduleFunction, ScheduleOptions, ScheduledEvent } from './runtime/schedule.ts'
export type { ActionContext, ActionDefinition, ActionEvent, ActionHandler, ActionOptions, Connections, SubscriptionOptions } from './runtime/action.ts'
export type { EventPayloads, PayloadOf } from './runtime/event-payloads.ts'
export type {
  CommerceCloudEvent,
  CommerceCreditmemoData,
  CommerceCustomerData,
  CommerceDocumentItemData,
  CommerceEntityData,
  CommerceEventMetadata,
  CommerceEvents,
  CommerceEventValues,
  CommerceInvoiceData,
  CommerceNumber,
  CommerceOrderAddressData,
  CommerceOrderData,
  CommerceOrderItemData,
  CommerceOrderPaymentData,
  CommerceProductData,
  CommerceShipmentData,
  CommerceShipmentTrackData,
  CommerceStockItemData,
} from './sources/adobe-io-events/commerce-events.ts'
export { PermanentError } from './core/errors.ts'
export { fingerprintOf } from './runtime/loop-guard.ts'
export type { LoopGuard } from './runtime/loop-guard.ts'
export type { HttpClient, HttpResponse, HttpRequestOptions } from './connections/http/index.ts'
export { TargetResponseError, TargetUnreachableError } from './connections/http/index.ts'
export { startStorehook } from './server/start.ts'
export type { StartOptions, RunningStorehook } from './server/start.ts'
export type { AdobeCommerceClient, CommerceOrder, CommerceRequestOptions, SearchCriteria } from './connections/adobe-commerce/index.ts'
export { ImsTokenError } from './connections/adobe-commerce/index.ts'
export { commerceLayer, PaymentUpdateError } from './sources/commerce-layer/external/index.ts'
export type {
  CommerceLayerContext,
  CustomerTokenAnswer,
  CustomerTokenOptions,
  OrderValidationAnswer,
  PaymentAnswer,
  PaymentUpdate,
  PriceAnswer,
  PromotionAnswer,
  SendPaymentUpdateOptions,
  ShippingAnswer,
  ShippingOptions,
  TaxAnswer,
} from './sources/commerce-layer/external/index.ts'
export type {
  Address,
  Customer,
  CustomerPaymentSource,
  ExternalPayment,
  LineItem,
  Market,
  Order,
  Shipment,
  ShippingMethod,
  Sku,
  Transaction,
} from './sources/commerce-layer/resources.ts'
export type { JsonApiDocument, Resource, ResourceIdentifier } from './sources/commerce-layer/json-api.ts'
export type {
  CommerceLayerResources,
  CommerceLayerWebhookPayload,
  CommerceLayerWebhooks,
  JsonApiResourceObject,
  ResourceAttributes,
} from './sources/commerce-layer/webhook-payloads.ts'
export { ExternalResourceError } from './sources/external.ts'
export type { ExternalContext, ExternalResourceDefinition, ExternalResourceOptions, FallbackOptions } from './sources/external.ts'
export { z } from 'zod'
export type { CommerceLayerClient, CommerceLayerRequestOptions, JsonApiResource, JsonApiWrite, RateLimitStatus } from './connections/commerce-layer/index.ts'
export { CommerceLayerApiError, CommerceLayerTokenError } from './connections/commerce-layer/index.ts'
export { adobeCommerce, WebhookException } from './sources/adobe-commerce-webhooks/index.ts'
export type {
  AddOperation,
  CommerceWebhookAnswer,
  CommerceWebhookContext,
  CommerceWebhookOptions,
  CommerceWebhookPayload,
  ExceptionOperation,
  FailurePolicy,
  RemoveOperation,
  ReplaceOperation,
  SuccessOperation,
  WebhookOperation,
} from './sources/adobe-commerce-webhooks/index.ts'
