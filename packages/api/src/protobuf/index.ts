export {
  type DecodedObject,
  decodeKubernetesProtobuf,
  decodeProtobufObject,
  hasProtobufSchema,
  PROTOBUF_CONTENT_TYPE,
  PROTOBUF_MAGIC,
  protobufKinds,
} from "./decode.js";
export { ProtobufDecodeError } from "./wire.js";
