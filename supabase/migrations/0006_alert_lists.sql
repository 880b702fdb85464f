-- The alert and delivery lists (GET /api/alerts, GET /api/alerts/deliveries): each admin's rows
-- newest first, paged by (created_at, id), read through row-level security.
create index if not exists alerts_user_newest on public.alerts (user_id, created_at desc, id desc);
create index if not exists alert_deliveries_user_newest
    on public.alert_deliveries (user_id, created_at desc, id desc);
