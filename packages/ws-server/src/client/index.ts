// @tickflow/ws-server/client: the client SDK (browsers, Node, Electron, React Native).
export { createClient, TickflowClient } from './tickflowClient.js';
export type { ClientEvents, ClientStatus, ChannelUpdate, Subscription, RowOf } from './tickflowClient.js';
export { parseClientOptions } from './clientOptions.js';
export type { ClientOptions, ReconnectOptions, ResolvedClientOptions, WebSocketConstructor } from './clientOptions.js';
export { ChannelStore } from './channelStore.js';
export type { ChannelChanges, DeltaResult } from './channelStore.js';
export { createUserEventEmitter, type UserEventEmitter, type UserEventEmitterOptions, type UserEventEmitterStats, type UserEventInput, type RejectedEvent } from './userEvents.js';
export { CloseCode, JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, PROTOCOL_VERSION, parseChannel } from '../protocol.js';
export type {
  ChannelName,
  ChannelKind,
  KindOfChannel,
  RowOfKind,
  TickerRow,
  UserRow,
  StreamPosition,
  ParsedChannel,
  WireFormat,
  ClientMessage,
  ServerMessage,
  SnapshotMessage,
  DeltaMessage,
  ErrorMessage,
  ProtocolErrorCode,
  CloseCodeValue,
} from '../protocol.js';
