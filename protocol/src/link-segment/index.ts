/** The compact link profile: v1 frames segmented into small link packets, and their reassembly. */
export { crc16CcittFalse } from './crc16.js';
export {
  LINK_SEGMENT_CRC_LENGTH,
  LINK_SEGMENT_FLAG_WIDE,
  LINK_SEGMENT_HEADER_SHORT,
  LINK_SEGMENT_HEADER_WIDE,
  LINK_SEGMENT_MAX_MTU,
  LINK_SEGMENT_MAX_SEGMENTS,
  LINK_SEGMENT_MAX_SEQ,
  LINK_SEGMENT_MAX_SHORT,
  LINK_SEGMENT_MIN_MTU,
  LINK_SEGMENT_RESERVED_FLAGS,
  LINK_SEGMENT_VERSION,
  decodeSegment,
  encodeSegment,
  planSegments,
  segmentFrame,
  type LinkSegment,
  type SegmentPlan,
} from './segment.js';
export { Desegmenter, type DesegmenterOptions, type DesegmenterStats, type PushResult } from './desegmenter.js';
