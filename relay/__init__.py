"""The market-data relay: capped upstream sockets to Massive fanned out to every admin.

The layers, each importing only the ones below it (no cycles, `TYPE_CHECKING` imports included):

- `relay.__main__`, `relay.worker`, `relay.app` (+ `status_page.html`): the process, the gunicorn
  worker and the WSGI application; `app` builds the node and picks its coordination.
- `relay.node` (`RelayNode`): the sessions, each cluster's hub and counters, the reaper. Nothing
  imports it.
- `relay.session` (`ClientSession`, one client's socket) and `relay.link` (`UpstreamLink`, one
  socket to Massive): gevent shells.
- `relay.coordination`: how one or many relay processes share one Massive key (its members and
  their leader). `lease`, `leadership` and `fanout` are pure; `redis` is the I/O over Redis.
- `relay.core`: the pure core (no gevent, geventwebsocket, redis, socket or websocket; it imports
  only itself), tested without a network.
- `relay.admission` (who may connect) and `relay.simulator` (a fake Massive) stand aside: the
  shells use them, they use `relay.core` at most.
"""
