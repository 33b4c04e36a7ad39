// The services as the server and the CLI see them: the workflows' Services (src/ops/services.ts) and the
// Watch head, which sits above the workflows (it contains what they do). Built by src/services.ts.
import type { Services as Base } from '../ops/services.ts';
import type { Watch } from './watch.ts';

export interface Services extends Base {
  /** Alerts, suspensions, release budgets and canaries (src/detect/watch.ts). */
  watch: Watch;
}
