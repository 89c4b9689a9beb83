/**
 * @module
 * What a storehook project imports: `import { defineConfig, env, onEvent } from 'storehook'`.
 */
export { defineConfig, env } from './runtime/config.ts'
export type { ProjectConfig, SourceConfig, ConnectionConfig } from './runtime/config.ts'
export { onEvent } from './runtime/action.ts'
export type { ActionContext, ActionDefinition, ActionEvent, ActionHandler, ActionOptions, Connections } from './runtime/action.ts'
export { PermanentError } from './core/errors.ts'
export type { HttpClient, HttpResponse, HttpRequestOptions } from './connections/http/index.ts'
export { TargetResponseError, TargetUnreachableError } from './connections/http/index.ts'
export { startStorehook } from './server/start.ts'
export type { StartOptions, RunningStorehook } from './server/start.ts'
export type { AdobeCommerceClient, CommerceOrder, CommerceRequestOptions, SearchCriteria } from './connections/adobe-commerce/index.ts'
export { ImsTokenError } from './connections/adobe-commerce/index.ts'
