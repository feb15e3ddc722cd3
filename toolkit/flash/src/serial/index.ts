/** Serial flashing: the sender (akb flash) and the receiver (akb-agent receive) over a byte line. */
export { sendBundle, type SendOptions, type SendProgress, type SendReport } from './sender.js';
export { SerialReceiver, type ReceiveOptions, type ReceiveInstallOutcome, type ReceiveCounts } from './receiver.js';
export { openTtyLine, FrameInbox, type SerialLine, type OpenedSerialLine } from './line.js';
