-- Market data the tables can hold (issue 20): nothing impossible is stored, whoever writes it.
--
-- The jobs refuse impossible rows at the edge (shared/massive/models.py); these constraints say
-- the same in the database, so no other writer (a script, a future job) can store them either.
-- Rows stored before this migration that break them are removed first: each is a bar or a
-- snapshot no one could have traded on, and each made the API answer invalid JSON.
--
-- Double precision in Postgres holds NaN and ±Infinity, and NaN compares above every number:
-- `x < 'Infinity'` is false for both, which is what makes `honeydrip.is_finite` work.

create or replace function honeydrip.is_finite(x double precision) returns boolean
    language sql immutable parallel safe
    as $$ select x is null or (x > '-Infinity'::float8 and x < 'Infinity'::float8) $$;

-- Every one of the values finite (nulls allowed: a level a chain does not have).
create or replace function honeydrip.all_finite(variadic xs double precision[]) returns boolean
    language sql immutable parallel safe
    as $$ select coalesce(bool_and(honeydrip.is_finite(x)), true) from unnest(xs) as x $$;

-- The same rules as `shared.massive.models.Bar`: positive prices below ten million, the open and
-- the close inside [low, high], a volume neither negative nor absurd.
create or replace function honeydrip.bar_is_possible(
    o double precision, h double precision, l double precision, c double precision,
    v double precision, vw double precision, n bigint
) returns boolean
    language sql immutable parallel safe
    as $$
        select coalesce(
            l > 0 and h < 1e7 and l <= h
            and o between l and h and c between l and h
            and v >= 0 and v < 1e12
            and (vw is null or (vw > 0 and vw < 1e7))
            and (n is null or n >= 0),
            false)
    $$;

revoke all on function honeydrip.is_finite(double precision) from public, anon;
revoke all on function honeydrip.all_finite(double precision[]) from public, anon;
grant execute on function honeydrip.all_finite(double precision[]) to authenticated, service_role;
revoke all on function honeydrip.bar_is_possible(double precision, double precision, double precision,
    double precision, double precision, double precision, bigint) from public, anon;
grant execute on function honeydrip.is_finite(double precision) to authenticated, service_role;
grant execute on function honeydrip.bar_is_possible(double precision, double precision, double precision,
    double precision, double precision, double precision, bigint) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Bars: impossible ones and bars dated in the future go; then the rule holds for every writer.
-- A future bar made every later ingest ask Massive for "2100 → now" and store nothing (issue 20).
-- ---------------------------------------------------------------------------------------------
delete from honeydrip.historical_bars
 where not honeydrip.bar_is_possible(o, h, l, c, v, vw, n)
    or ts > now() + interval '1 minute';

alter table honeydrip.historical_bars drop constraint if exists historical_bars_possible;
alter table honeydrip.historical_bars add constraint historical_bars_possible
    check (honeydrip.bar_is_possible(o, h, l, c, v, vw, n));

-- ---------------------------------------------------------------------------------------------
-- Gamma snapshots: every total and level finite (a chain with open interest 1e308 stored NaN).
-- ---------------------------------------------------------------------------------------------
delete from honeydrip.gamma_snapshots
 where not (spot < 1e7 and honeydrip.all_finite(variadic array[net_gex, call_gex, put_gex, call_wall, put_wall,
                                                               zero_gamma, max_pain, gamma_unit_ratio, gamma_scale]));

alter table honeydrip.gamma_snapshots drop constraint if exists gamma_snapshots_finite;
alter table honeydrip.gamma_snapshots add constraint gamma_snapshots_finite
    check (spot < 1e7 and honeydrip.all_finite(variadic array[net_gex, call_gex, put_gex, call_wall, put_wall,
                                                               zero_gamma, max_pain, gamma_unit_ratio, gamma_scale]));
