/**
 * @module
 * `import { … } from 'storehook/testkit'`: simulators of the platforms and targets storehook talks
 * to, as real HTTP servers on 127.0.0.1, for testing your own actions end to end.
 */
export { startErpSimulator } from './erp-simulator.ts'
export type { ErpDelivery, ErpSimulator } from './erp-simulator.ts'
export { ioEventsRetries, ioEventsRetryDelay, startIoEventsSimulator } from './io-events-simulator.ts'
export type { CloudEventOptions, DeliverOptions, IoEventsSimulator, Publication, PublishOptions } from './io-events-simulator.ts'
export { startCommerceSimulator } from './commerce-simulator.ts'
export type { CommerceAnswer, CommerceRequest, CommerceSimulator, CommerceSimulatorOptions } from './commerce-simulator.ts'
export { ACCS_SCOPES, startImsSimulator } from './ims-simulator.ts'
export type { ImsAnswer, ImsSimulator, ImsSimulatorOptions, ImsTokenCheck, ImsTokenRequest } from './ims-simulator.ts'
export { DEFAULT_INCLUDES, EXTERNAL_KINDS, PAYMENT_ACTIONS, signCommerceLayer, startCommerceLayerSimulator } from './commerce-layer-simulator.ts'
export type {
  CommerceLayerAnswer,
  CommerceLayerSimulator,
  CommerceLayerSimulatorOptions,
  ExternalCallOptions,
  ExternalCallRecord,
  ExternalKind,
  PaymentAction,
  WebhookDelivery,
} from './commerce-layer-simulator.ts'
export { COMMERCE_GENERIC_ERROR, createCommerceWebhooksSimulator, LOCALIZED_EXCEPTION } from './commerce-webhooks-simulator.ts'
export type {
  CommerceHook,
  CommerceWebhooksSimulator,
  CommerceWebhooksSimulatorOptions,
  DispatchResult,
  HookCall,
  HookField,
  HookOutcome,
  ReceivedOperation,
  WebhookLogEntry,
} from './commerce-webhooks-simulator.ts'
export { SIMULATOR_NAMES, startHarness, startSimulators } from './harness.ts'
export type {
  ErpRequest,
  HarnessOptions,
  RunOutcome,
  RunQuery,
  SendInput,
  SendResult,
  SimulatorName,
  Simulators,
  SimulatorsOptions,
  StorehookHarness,
} from './harness.ts'
