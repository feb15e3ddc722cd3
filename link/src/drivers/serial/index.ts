/** The `serial` link driver: UART radio modems (RN2483 LoRa AT, E32 transparent). */
export { SerialLink, type SerialLinkCapabilities, type SerialLinkOptions, type SerialLinkStats, type SerialModemOptions, type SerialRadioInfo } from './serial-link.js';
export { openModemLine, type ModemLine } from './line.js';
export { E32Modem, E32_IDLE_GAP_MS, Rn2483Modem, type Modem, type ModemCounters, type TxOutcome } from './modems.js';
