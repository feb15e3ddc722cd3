/**
 * Which operation the cloud serves on which topic (protocol/PROTOCOL.md, "Operations"; issue #9: a device
 * must not make the cloud publish into another device's topics).
 *
 * Every device may write `akb/v1/cloud/req` (the per-device ACL grants `pattern write` on it), and MQTT
 * 3.1.1 does not tell the cloud who published, so a request's `from` proves nothing. There the cloud
 * serves only what a device may ask for itself: `ping` and `kb.entries`. What acts on the fleet or reads
 * it — `intent.set`, which the cloud forwards to the target devices' `cmd/req`; `kb.reload`, which
 * announces a new KB to all; `fleet.list`, the statistics and the images — is served on
 * `akb/v1/cloud/ops/req`, which the ACL (`akb topics --acl --tool <user>`) lets tool users write and no
 * device. So the broker, which knows who is logged in, decides who may act on other devices.
 *
 * An operator operation that arrives on cloud/req is not executed: it is answered `FORBIDDEN` with a hint
 * naming cloud/ops/req (an operation this cloud does not serve at all stays `UNKNOWN_OP`).
 */
import { AkbError, KB_ENTRIES_OP, topics } from '@akb/protocol';
import type { RpcContext, RpcHandlers } from '@akb/protocol/mqtt';

/** What a device may ask the cloud for itself, on `akb/v1/cloud/req` (tools may too). */
export const DEVICE_OPS: readonly string[] = ['ping', KB_ENTRIES_OP];

/**
 * The two tables: `device` for cloud/req (the device operations, and a FORBIDDEN answer for every other
 * operation of `all`), `operator` for cloud/ops/req (all of them). `onForbidden` is told of each refusal.
 */
export function splitOperations(all: RpcHandlers, onForbidden: (op: string, ctx: RpcContext) => void): { device: RpcHandlers; operator: RpcHandlers } {
  const device: RpcHandlers = {};
  for (const [op, handler] of Object.entries(all)) {
    device[op] = DEVICE_OPS.includes(op)
      ? handler
      : (_args, ctx) => {
          onForbidden(op, ctx);
          throw forbidden(op);
        };
  }
  return { device, operator: { ...all } };
}

function forbidden(op: string): AkbError {
  return new AkbError('FORBIDDEN', `"${op}" is an operator operation, not served on ${topics.cloudReq()}`, {
    hint: `send it on ${topics.cloudOpsReq()}, which the broker ACL grants tool users only (akb topics --acl --tool <user>)`,
  });
}
