"""Whether a number may receive SMS: opt-outs (STOP) and opt-ins (START).

Carriers and Twilio require that a number which replied STOP gets nothing more
until it replies START. The flag lives on the phone contact point; every path
that sends SMS (`actions.do_reply`, the acknowledgement, the SMS channel itself)
checks it through `actions.is_opted_out`. When an opted-out customer is erased the
number moves to the suppression list (`SmsSuppression`), and START lifts it there too.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.actions import audit
from contactcenter.db.models import ContactPoint, SmsSuppression

# Built once: building a select costs more than running it.
PHONE_POINT = select(ContactPoint).where(ContactPoint.kind == "phone", ContactPoint.value == bindparam("phone"))


async def do_set_sms_consent(session: AsyncSession, phone: str, *, opted_out: bool, actor: str, reason: str) -> bool:
    """Record an opt-out or opt-in for a known number; -> whether anything changed.

    A number we hold no contact point for has nothing to flag: the pipeline
    creates the point before this runs for inbound keywords.
    """
    lifted = not opted_out and (await session.execute(delete(SmsSuppression).where(SmsSuppression.phone == phone))).rowcount > 0
    point = await session.scalar(PHONE_POINT, {"phone": phone})
    if point is None or point.opted_out == opted_out:
        return lifted
    point.opted_out = opted_out
    audit(session, actor, "sms.opt_out" if opted_out else "sms.opt_in", point, reason=reason)
    return True
