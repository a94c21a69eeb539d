// Global test setup. Kept small: individual suites start what they need (PostgreSQL databases,
// Synapse) through the helpers in test/support.
export default function setup(): void {
  process.env.TZ = 'UTC';
}
