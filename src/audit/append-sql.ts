// The access log's append statement, shared by the group-commit recorder, writes appending in their own
// transaction, and the append worker thread. One INSERT … SELECT FROM unnest(13 arrays): the text is the
// same whatever the batch size, so PostgreSQL parses it once per connection and the client sends 13
// parameters instead of 13 per event. It also allocates each tenant's leaf positions from
// audit_log_head: the row lock is held until commit, so positions are gap-free and in commit order
// (tenants locked in sorted order: no deadlock between batches). Callers append as the last statement
// of their transaction.

/** One event: tenant, actor kind/id/role/site, client id, ip, purpose, action, outcome, refs (JSON), patients (JSON), detail. */
export type EventRow = [string, string, string, string, string | null, string | null, string | null, string, string, string, string, string, string | null];

export const APPEND_SQL = `with x as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
      $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
      with ordinality as x(t, ak, ai, r, s, c, ip, p, a, o, rr, pi, d, ord)),
  n as (select x.t as nt, count(*)::bigint as cnt from x group by x.t),
  h as (insert into audit_log_head as h (tenant_id, next) select nt, cnt from n order by nt
    on conflict (tenant_id) do update set next = h.next + excluded.next returning h.tenant_id, h.next)
  insert into audit_events (tenant_id, leaf_index, actor_kind, actor_id, role, site_id, client_id, ip, purpose, action, outcome, resource_refs, patient_ids, detail)
  select x.t, h.next - n.cnt + row_number() over (partition by x.t order by x.ord) - 1, ak, ai, r, s, c, ip, p, a, o,
    array(select jsonb_array_elements_text(rr::jsonb)), array(select jsonb_array_elements_text(pi::jsonb)), d
  from x join n on n.nt = x.t join h on h.tenant_id = x.t`;

/** The 13 column arrays of APPEND_SQL. */
export function appendParams(rows: readonly EventRow[]): unknown[] {
  const cols: (string | null)[][] = Array.from({ length: 13 }, () => new Array(rows.length));
  for (let i = 0; i < rows.length; i++) for (let c = 0; c < 13; c++) cols[c][i] = rows[i][c];
  return cols;
}
