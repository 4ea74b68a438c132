"""Nameko entrypoints of formal review (形式审查)."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from services.review.formal_review.application import FormalReview
from shared.rpc import service_base


class FormalReviewService(service_base(FormalReview)):
    name = "formal_review"
