-- Foundation: profiles and the watchlist, each user seeing only their own rows.
-- Runs unchanged on Supabase (`supabase db push`) and on plain Postgres after shared/db/compat.sql.

create table if not exists public.profiles (
    user_id      uuid primary key default auth.uid(),
    display_name text check (display_name is null or char_length(display_name) between 1 and 80),
    discord_handle text check (discord_handle is null or char_length(discord_handle) <= 64),
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

create table if not exists public.watchlist (
    id        bigint generated always as identity primary key,
    user_id   uuid not null default auth.uid(),
    symbol    text not null check (symbol ~ '^(I:)?[A-Z][A-Z.]{0,9}$'),
    added_at  timestamptz not null default now(),
    unique (user_id, symbol)
);

alter table public.profiles enable row level security;
alter table public.watchlist enable row level security;

-- Nothing for anon: it has no grants and no policies.
revoke all on public.profiles, public.watchlist from anon;
grant select, insert, update, delete on public.profiles, public.watchlist to authenticated;
grant all on public.profiles, public.watchlist to service_role;

create policy profiles_own on public.profiles
    for all to authenticated
    using (auth.uid() = user_id)
    with check (auth.uid() = user_id);

create policy watchlist_own on public.watchlist
    for all to authenticated
    using (auth.uid() = user_id)
    with check (auth.uid() = user_id);
