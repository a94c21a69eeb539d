/** Removes the password from a PostgreSQL URL (also inside free text) so it can be printed. */
export function redactDatabaseUrl(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+):[^@\s]*@/g, '$1:REDACTED@');
}
