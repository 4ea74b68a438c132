"""Nameko entrypoints of expert review (专家论证) and approval (批准筹建)."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from services.review.expert_review.application import ExpertReview
from shared.rpc import service_base


class ExpertReviewService(service_base(ExpertReview)):
    name = "expert_review"
