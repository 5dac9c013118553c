// Capability names ↔ kernel bit masks (/proc/<pid>/status CapEff is a hex mask).
import { ALL_CAPABILITIES, effectiveCapabilities } from '../rules/capabilities.js';
import type { HostConfig } from '../model/dockerTypes.js';

/** ALL_CAPABILITIES is in kernel bit order (CAP_CHOWN = bit 0 … CAP_CHECKPOINT_RESTORE = bit 40). */
export function capabilityMask(names: Iterable<string>): bigint {
  let m = 0n;
  for (const n of names) {
    const bit = ALL_CAPABILITIES.indexOf(n);
    if (bit >= 0) m |= 1n << BigInt(bit);
  }
  return m;
}

export function capabilityNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out.push(ALL_CAPABILITIES[bit] ?? `CAP_${bit}`);
  }
  return out;
}

/** The mask a container's processes may hold at most. */
export function containerCapabilityMask(hc: HostConfig | undefined): { mask: bigint; privileged: boolean } {
  const eff = effectiveCapabilities(hc);
  return { mask: capabilityMask(eff.caps), privileged: eff.privileged };
}
