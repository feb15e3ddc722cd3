export { EdgeAgent, EDGE_VERSION, type EdgeAgentOptions } from './agent.js';
