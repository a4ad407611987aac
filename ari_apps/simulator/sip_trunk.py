"""How a failure at the carrier reaches our leg through a chan_pjsip trunk.

The carrier hangs up with a Q.850 cause; its Asterisk turns that into a SIP final response
(chan_pjsip.c `hangup_cause2sip`); ours turns the response back into a cause
(res_pjsip.c `ast_sip_hangup_sip2cause`) and puts the SIP code in `tech_cause`. The round
trip is not the identity: `Hangup(20)` arrives as 480 and cause 19 (traces/pjsip-unavailable),
`Hangup(21)` as 403 and 21. `Dial` says BUSY or CONGESTION for 17 and 34, NOANSWER otherwise.
"""

from __future__ import annotations

CAUSE_TO_SIP: dict[int, int] = {
    1: 404, 2: 404, 3: 404, 18: 408, 19: 480, 20: 480, 21: 403, 22: 410, 23: 302, 28: 484, 29: 501,
    31: 480, 17: 486, 34: 503, 42: 503, 38: 500, 27: 502, 58: 488, 66: 503, 127: 500,
}  # fmt: skip
SIP_TO_CAUSE: dict[int, int] = {
    302: 23, 401: 21, 403: 21, 404: 1, 407: 21, 408: 18, 410: 22, 480: 19, 484: 28, 485: 1, 486: 17,
    488: 58, 500: 38, 501: 29, 502: 27, 503: 34, 504: 102, 600: 17, 603: 21, 604: 1, 606: 58,
}  # fmt: skip
RING_TIMEOUT_SIP = 480  # our originate timeout cancels the INVITE: cause 19 with tech_cause 480
_DIALSTATUS = {17: "BUSY", 34: "CONGESTION"}


def trunk_failure(carrier_cause: int) -> tuple[int, int, str]:
    """(SIP code, our leg's cause, Dial status) when the carrier hangs up with `carrier_cause`."""
    sip = CAUSE_TO_SIP.get(carrier_cause, 500)
    cause = SIP_TO_CAUSE.get(sip, 38)
    return sip, cause, _DIALSTATUS.get(cause, "NOANSWER")
