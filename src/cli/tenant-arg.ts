// The `--tenant T` option of a command: required, and the tenant must exist.
import type { Services } from '../detect/services.ts';
import { tenantExists } from '../store/tenants.ts';
import { CliError } from './io.ts';

export async function tenantOf(svc: Services, v: Record<string, string | boolean | undefined>): Promise<string> {
  const tenant = typeof v.tenant === 'string' ? v.tenant : '';
  if (!tenant) throw new CliError('--tenant is required');
  if (!(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist`);
  return tenant;
}
