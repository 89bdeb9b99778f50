"""The survey page a customer opens from the link in their mail: `GET/POST /survey/{token}`.

No sign-in: the token in the path is the key (unguessable, stored hashed).
Works without JavaScript: five radio buttons and a comment box in a plain
form. `?rating=N` (the one-click links in the mail) preselects a rating; only
the POST records it, so link scanners that open every URL in a mail cannot
answer for the customer. The form also carries the site's signed CSRF token.
The page speaks the survey's language unless `?lang=` asks for another.
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.db.models import utcnow
from contactcenter.errors import NotFoundError
from contactcenter.i18n import Reader, current_reader, gettext as _, set_reader
from contactcenter.keys import HUB
from contactcenter.surveys.answers import MAX_COMMENT_CHARS, find_survey, is_open, record_answer, ticket_reference
from contactcenter.surveys.tokens import hash_token
from contactcenter.identity.normalize import is_text
from contactcenter.web import csrf
from contactcenter.web.pages import render_page
from contactcenter.webhooks.enqueue import enqueue_webhook_events

PATH = "/survey/{token}"
# Tokens are 32 characters; the page says "does not work" alike for a mistyped one and one that never existed.
MAX_TOKEN_CHARS = 64


def setup_survey_pages(app: web.Application) -> None:
    app.router.add_get(PATH, handle_survey)
    app.router.add_post(PATH, handle_survey_answer)


async def handle_survey(request: web.Request) -> web.Response:
    survey, reference = await _survey(request)
    if survey.status == "answered":
        return render_page("survey_done.html", reference=reference, rating=survey.rating, already=True)
    if not is_open(survey, utcnow(), request.app[HUB].settings.csat.answer_days):
        return render_page("survey_done.html", status=410, reference=reference, rating=None, already=False)
    chosen = request.query.get("rating", "")
    return _form(request, reference, rating=int(chosen) if chosen in ("1", "2", "3", "4", "5") else None, comment="", error="")


async def handle_survey_answer(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    form = await request.post()
    rating_text, comment = str(form.get("rating", "")), str(form.get("comment", "")).strip()
    survey, reference = await _survey(request)
    if csrf.check_token(hub.secret_key, str(form.get("csrf_token", "")), request.cookies.get(csrf.COOKIE_NAME, "")) is None:
        return _form(request, reference, rating=None, comment=comment, error=_("This page has expired. Please choose your rating and send it again."), status=400)
    if rating_text not in ("1", "2", "3", "4", "5"):
        return _form(request, reference, rating=None, comment=comment, error=_("Please choose a rating from 1 to 5."), status=400)
    if len(comment) > MAX_COMMENT_CHARS or not is_text(comment):
        return _form(request, reference, rating=int(rating_text), comment=comment[:MAX_COMMENT_CHARS], error=_("Please keep the comment under {limit} characters.", limit=MAX_COMMENT_CHARS), status=400)
    now = utcnow()
    async with hub.sessions() as session, session.begin():
        survey = await find_survey(session, survey.token_hash or "")
        assert survey is not None
        if survey.status == "answered":
            return render_page("survey_done.html", reference=reference, rating=survey.rating, already=True)
        if not is_open(survey, now, hub.settings.csat.answer_days):
            return render_page("survey_done.html", status=410, reference=reference, rating=None, already=False)
        _interaction, events = record_answer(session, survey, int(rating_text), comment, channel="web", provider_id=None, now=now)
        await enqueue_webhook_events(session, events)
    hub.bus.publish_all(events)
    return render_page("survey_done.html", reference=reference, rating=int(rating_text), already=False)


async def _survey(request: web.Request):
    token = request.match_info["token"]
    unknown = NotFoundError(_("This survey link does not work. Please check that you opened the whole link from our message."))
    if len(token) > MAX_TOKEN_CHARS or not token.replace("-", "").replace("_", "").isascii() or not token.replace("-", "").replace("_", "").isalnum():
        raise unknown
    async with request.app[HUB].reads() as session:
        survey = await find_survey(session, hash_token(token))
        if survey is None:
            raise unknown
        reference = await ticket_reference(session, survey.ticket_id)
    if "lang" not in request.query and survey.language:
        set_reader(Reader(survey.language, current_reader().timezone))
    return survey, reference


def _form(request: web.Request, reference: str, *, rating: int | None, comment: str, error: str, status: int = 200) -> web.Response:
    hub = request.app[HUB]
    cookie = request.cookies.get(csrf.COOKIE_NAME) or csrf.new_cookie_value()
    response = render_page(
        "survey.html",
        status=status,
        reference=reference,
        rating=rating,
        comment=comment,
        error=error,
        csrf_token=csrf.issue_token(hub.secret_key, cookie),
        action=request.path,
        max_comment=MAX_COMMENT_CHARS,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response.set_cookie(
        csrf.COOKIE_NAME, cookie, max_age=30 * 24 * 3600, httponly=True, samesite="Lax",
        secure=hub.settings.http.public_url.startswith("https://"),
    )
    return response
