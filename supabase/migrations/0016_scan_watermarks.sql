-- Issue 20: the scan catches up. Each symbol keeps the start of the last 1m bar the scanner
-- evaluated; a run evaluates every closed bar after it (the last 15 minutes at most, and the first
-- scan of a symbol looks back that far), so a minute whose run failed, was throttled or whose
-- symbol was deferred still fires its signal once, with the bar it belongs to. Written only by the
-- scanner (service_role), read by nobody else.

create table if not exists honeydrip.scan_watermarks (
    symbol      text primary key check (symbol ~ '^(I:)?[A-Z][A-Z.]{0,9}$'),
    bar_time    timestamptz not null,
    updated_at  timestamptz not null default now()
);

alter table honeydrip.scan_watermarks enable row level security;
revoke all on honeydrip.scan_watermarks from public, anon, authenticated;
grant all on honeydrip.scan_watermarks to service_role;
