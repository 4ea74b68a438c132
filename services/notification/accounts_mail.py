"""The e-mails accounts asks for: confirm the address (确认邮箱), accept an invitation (接受邀请),
reset the password (重置密码), each with its link to the portal.

The link's token is a secret, so it is never in an event or a read model of this service
either: the prepared e-mail holds a marker naming the link token's parts (purpose, subject,
nonce, expiry; none of them a secret), and the marker becomes the token
(`shared.auth.link_token`) only as the message is composed for the SMTP server
(`with_links`). The same parts give the same token, so a resend is byte for byte the same.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from shared.auth import link_token
from shared.contracts import IntegrationEvent
from services.notification.domain import EMAIL, Message, Notification, Recipient, usable_address
from services.notification.templates import FOOTER, PRODUCT, SIGNATURE, beijing

ACCOUNT = "account"  # the audience of these e-mails: one person, by address, before or without an inbox
MARKER = re.compile(r"\{\{innobase-link:([a-z_]+):([0-9a-f-]{36}):([A-Za-z0-9_-]+):(\d+)\}\}")


@dataclass(frozen=True)
class AccountMail:
    purpose: str  # the link token's purpose, as accounts checks it
    path: str  # on the portal
    subject_field: str  # the payload field the link token's subject is
    subject: str
    summary: str
    action: str


MAILS = {
    "EmailConfirmationRequested": AccountMail(
        "confirm_email", "/confirm", "account_id", "请确认您的邮箱地址",
        "您已使用本邮箱在" + PRODUCT + "注册账户。确认邮箱地址后即可登录。", "确认邮箱地址"),
    "Invited": AccountMail(
        "invitation", "/invitation", "invitation_id", "邀请您开通账户",
        "国家标准委邀请您开通" + PRODUCT + "的账户（$role_name，$organization）。请设置密码以开通账户。",
        "接受邀请并设置密码"),
    "PasswordResetRequested": AccountMail(
        "password_reset", "/reset-password", "account_id", "重置密码",
        "我们收到了重置您账户密码的请求。如非本人操作，请忽略本邮件，您的密码不会改变。", "重置密码"),
}
ROLE_NAMES = {"applicant": "申报单位", "organizing_unit": "申报组织单位", "recommending_unit": "推荐单位",
              "officer": "国家标准委", "expert": "专家", "auditor": "审计", "ops": "运维"}
REACTIONS = {("accounts", event_type): "on_account_mail" for event_type in MAILS}


def prepare(event: IntegrationEvent, portal_url: str, mail_domain: str) -> list[Notification]:
    """The one e-mail the event asks for, to the address it names (none to an unusable address)."""
    p = event.payload
    if not usable_address(p["email"]):
        return []
    mail = MAILS[event.type]
    expires_at = datetime.fromisoformat(p["expires_at"])
    marker = f"{{{{innobase-link:{mail.purpose}:{p[mail.subject_field]}:{p['nonce']}:{int(expires_at.timestamp())}}}}}"
    link = f"{portal_url.rstrip('/')}{mail.path}?token={marker}"
    summary = (mail.summary.replace("$role_name", ROLE_NAMES.get(p.get("role"), p.get("role", "")))
               .replace("$organization", p.get("organization", "")))
    message = render(mail, p["name"], summary, link, beijing(expires_at))
    return [Notification.prepare(
        occasion=event.event_id, recipient=Recipient(ACCOUNT, p["email"]), channel=EMAIL, message=message,
        event_type=event.type, source=event.source, to=[p["email"]], mail_domain=mail_domain,
        caused_by={"source": event.source, "position": event.position},
    )]


def render(mail: AccountMail, name: str, summary: str, link: str, valid_until: str) -> Message:
    subject = "【创新基地申报】" + mail.subject
    lines = [f"{name}：", "", summary, "", f"请点击以下链接{mail.action}（{valid_until}前有效，仅可使用一次）：",
             link, "", "如果链接无法点击，请将其复制到浏览器地址栏中打开。", "", FOOTER, SIGNATURE, ""]
    e = html.escape
    body = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>\n"
        '<body style="font-family:sans-serif;font-size:14px">\n'
        f"<p>{e(name)}：</p>\n<p>{e(summary)}</p>\n"
        f'<p><a href="{e(link)}">{e(mail.action)}</a>（{e(valid_until)}前有效，仅可使用一次）</p>\n'
        f"<p>如果链接无法点击，请将以下地址复制到浏览器地址栏中打开：<br>{e(link)}</p>\n"
        f'<p style="color:#666">{e(FOOTER)}<br>{e(SIGNATURE)}</p>\n'
        "</body>\n</html>\n"
    )
    return Message(subject=subject, text="\n".join(lines), html=body)


def with_links(body: str) -> str:
    """The body as it leaves for the SMTP server: each link marker replaced by its link token."""
    return MARKER.sub(lambda m: link_token(m[1], m[2], m[3], datetime.fromtimestamp(int(m[4]), timezone.utc)),
                      body)
