// @tickflow/ws-server/client: the client SDK (browsers, Node, Electron, React Native).
export { createClient, TickflowClient, ClientOptionsSchema } from './tickflowClient.js';
export type {
  ClientOptions,
  ClientEvents,
  ClientStatus,
  ChannelUpdate,
  Subscription,
  RowOf,
  WebSocketConstructor,
} from './tickflowClient.js';
export { ChannelStore } from './channelStore.js';
export type { ChannelChanges, DeltaResult } from './channelStore.js';
export { CloseCode, JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, PROTOCOL_VERSION, parseChannel } from '../protocol.js';
export type {
  ChannelName,
  ChannelKind,
  KindOfChannel,
  RowOfKind,
  TickerRow,
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
