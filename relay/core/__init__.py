"""The relay's pure core: channel names, frames, the hub, the upstream state machine, queues, clocks.

The rule of this package: no I/O. Nothing here imports gevent, geventwebsocket, redis, socket or
websocket, and nothing here imports the relay's shells (`relay.session`, `relay.link`,
`relay.node`, `relay.coordination`, `relay.app`): time is passed in, sockets stay outside, and
every module can be tested without a network or a hub. `ports.py` names what the shells call on
each other, so that none of them has to import another's class.
"""
