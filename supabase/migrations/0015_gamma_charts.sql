-- Gamma charts drawn once, by the gamma job (issue 24): the request handlers serve stored bytes and
-- never load matplotlib. One PNG per snapshot (symbol, view, bucket); it goes with its snapshot.
-- `etag` is the PNG's sha256: a strong validator, so a client's copy is reused until the next snapshot.

create table if not exists honeydrip.gamma_charts (
    symbol    text not null,
    view      text not null,
    bucket    timestamptz not null,
    png       bytea not null check (octet_length(png) between 8 and 2000000),
    etag      text not null check (etag ~ '^[0-9a-f]{64}$'),
    drawn_at  timestamptz not null default now(),
    primary key (symbol, view, bucket),
    foreign key (symbol, view, bucket) references honeydrip.gamma_snapshots (symbol, view, bucket) on delete cascade
);

alter table honeydrip.gamma_charts enable row level security;

revoke all on honeydrip.gamma_charts from public, anon, authenticated;
grant select on honeydrip.gamma_charts to authenticated;
grant all on honeydrip.gamma_charts to service_role;

-- Like the snapshots: every admin reads every chart, and only the job (service_role) writes them.
drop policy if exists gamma_charts_read on honeydrip.gamma_charts;
create policy gamma_charts_read on honeydrip.gamma_charts
    for select to authenticated using ((select honeydrip.is_admin()));
