/** The message of anything thrown, for status lines and logs (thrown values need not be Errors). */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
