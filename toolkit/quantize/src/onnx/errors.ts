/**
 * The two ways a model can be refused. Both are typed akb errors: the CLI prints them as one line and
 * exits 1, never with a stack trace.
 */
import { AkbError } from '@akb/protocol';

/**
 * The bytes are not a well-formed ONNX protobuf (truncated, corrupt, wrong wire type, a length past the
 * end), external data is missing or points where it must not, or the decoded model breaks ONNX's rules
 * (a cycle, tensor data that does not match its dims, absurd dims: validate.ts). The message is one line
 * and says where: the byte offset and the message being decoded, or the tensor, node and file.
 */
export class OnnxFormatError extends AkbError {
  override readonly name: string = 'OnnxFormatError';
  /** Byte offset in the decoded buffer where the problem was found, when it is about the bytes. */
  readonly offset: number | undefined;

  constructor(message: string, options: { offset?: number; hint?: string; cause?: unknown } = {}) {
    super('ONNX_FORMAT', oneLine(message), options);
    this.offset = options.offset;
  }
}

/** A well-formed model that this tool cannot take: no graph, an unknown opset, an unsupported data type. */
export class UnsupportedModelError extends AkbError {
  override readonly name: string = 'UnsupportedModelError';

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('UNSUPPORTED_MODEL', oneLine(message), options);
  }
}

/** Collapses line breaks so a message built from model strings stays one line. */
export function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}
