// PLACEHOLDER by the lead so compile.ts type-checks; helper-3 owns this file and replaces it entirely.
import type { VendorMergeReport } from './plan.js';
export function mergeVendorAutoinstall(ours: Record<string, unknown>, _vendor: unknown): { document: Record<string, unknown>; report: VendorMergeReport } {
  return { document: ours, report: { kept: [], replaced: [], dropped: [], added: [], appended: [] } };
}
