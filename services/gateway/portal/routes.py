"""The portal's pages, one mixin per party, joined into `PortalRoutes` for the gateway service."""
from services.gateway.portal.account_pages import AccountPages
from services.gateway.portal.admin_pages import AdminPages
from services.gateway.portal.applicant_pages import ApplicantPages
from services.gateway.portal.assets import AssetPages
from services.gateway.portal.audit_pages import AuditPages
from services.gateway.portal.decision_pages import DecisionPages
from services.gateway.portal.expert_audit_pages import ExpertAuditPages
from services.gateway.portal.expert_pages import ExpertDutyPages
from services.gateway.portal.inbox_pages import InboxPages
from services.gateway.portal.letter_pages import LetterPages
from services.gateway.portal.officer_pages import OfficerPages
from services.gateway.portal.panel_pages import PanelPages
from services.gateway.portal.register_pages import RegisterPages
from services.gateway.portal.round_pages import RoundPages
from services.gateway.portal.unit_pages import UnitPages
from services.gateway.portal.verify_pages import VerifyPages


class PortalRoutes(AccountPages, AdminPages, ApplicantPages, UnitPages, OfficerPages, RoundPages, RegisterPages, DecisionPages, PanelPages, ExpertAuditPages, AuditPages, ExpertDutyPages, InboxPages, AssetPages, LetterPages, VerifyPages):
    """The portal (门户): every page a person uses in a browser; mixed into `GatewayService`."""
