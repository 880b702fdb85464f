-- A row may only point at the user's own rows. Foreign keys are checked as the table owner, past
-- row-level security, so `alerts.trade_update_id`, `trade_fills.trade_update_id` and
-- `alert_deliveries.alert_id` accepted another user's ids (trades are guarded by the composite
-- (trade_id, user_id) keys, channels by the delivery policies). The policies below add the same
-- ownership check to these references. The scheduled jobs write as service_role and are not
-- affected.

drop policy if exists alerts_own on public.alerts;
create policy alerts_own on public.alerts
    for all to authenticated
    using (auth.uid() = user_id)
    with check (
        auth.uid() = user_id
        and (trade_update_id is null
             or exists (select 1 from public.trade_updates u where u.id = trade_update_id and u.user_id = auth.uid()))
    );

drop policy if exists trade_fills_own on public.trade_fills;
create policy trade_fills_own on public.trade_fills
    for all to authenticated
    using (auth.uid() = user_id)
    with check (
        auth.uid() = user_id
        and (trade_update_id is null
             or exists (select 1 from public.trade_updates u where u.id = trade_update_id and u.user_id = auth.uid()))
    );

drop policy if exists alert_deliveries_insert_own on public.alert_deliveries;
create policy alert_deliveries_insert_own on public.alert_deliveries
    for insert to authenticated with check (
        auth.uid() = user_id
        and channel_id is not null
        and exists (select 1 from public.discord_channels c where c.id = channel_id and c.user_id = auth.uid())
        and (alert_id is null
             or exists (select 1 from public.alerts a where a.id = alert_id and a.user_id = auth.uid()))
    );

drop policy if exists alert_deliveries_update_own on public.alert_deliveries;
create policy alert_deliveries_update_own on public.alert_deliveries
    for update to authenticated using (auth.uid() = user_id) with check (
        auth.uid() = user_id
        and (channel_id is null
             or exists (select 1 from public.discord_channels c where c.id = channel_id and c.user_id = auth.uid()))
        and (alert_id is null
             or exists (select 1 from public.alerts a where a.id = alert_id and a.user_id = auth.uid()))
    );
