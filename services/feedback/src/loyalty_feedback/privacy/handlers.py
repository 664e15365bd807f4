"""member.erasure_requested in the feedback service: comments erased; unpublished answers lose
their comment and unpublished survey invitations (their link is a credential) are dropped."""

from __future__ import annotations

from loyalty_feedback.privacy import repository
from loyalty_shared.events.loyalty import FeedbackReceivedV1, FeedbackRequestedV1
from loyalty_shared.privacy.erasure import dropped, erasure_route, without

ERASURE = erasure_route(
    service="feedback",
    erase=repository.erase,
    redactions={FeedbackReceivedV1.TYPE: without("comment"), FeedbackRequestedV1.TYPE: dropped},
)
