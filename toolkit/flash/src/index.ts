/**
 * @akb/flash: bundles (reproducible signed tars), their verification, and the install agent's A/B slots.
 */
export {};
