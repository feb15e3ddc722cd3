/** Radio-modem simulators: a modem on a serial port and a gateway that hears its packets. */
export { ModemSim, type ModemSimOptions, type ModemSimStats, type SimModem } from './modem-sim.js';
export { RadioGatewaySim, type RadioGatewaySimOptions, type RadioGatewayStats } from './gateway-sim.js';
export { startPtyPair, type PtyPair } from './pty-pair.js';
