"""The API's routes: ``/api/v1/`` (router), schema and docs, session login, and a catch-all
that answers unknown /api/ paths with a 404 problem."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import routers

from api.permissions import EVERYONE, RolePermission
from api.throttling import AnonReadThrottle
from api.views import accounts, bookings, catalog, credentials, imports, outcomes, spas, webhooks
from api.views.errors import api_not_found
from api.views.schema import SchemaView


class ApiRootView(routers.APIRootView):
    """The registry's REST API (v1). Authenticate with `Authorization: Token <key>`."""

    permission_classes = [RolePermission]
    throttle_classes = [AnonReadThrottle]
    action_roles = {"get": EVERYONE}
    schema = None


class Router(routers.DefaultRouter):
    APIRootView = ApiRootView
    include_format_suffixes = False  # codes contain dots (M51.16): no ".json" suffix routes


router = Router()
router.register("users", accounts.UserViewSet, basename="user")
router.register("protocols", catalog.ProtocolViewSet, basename="protocol")
router.register("conditions", catalog.ConditionViewSet, basename="condition")
router.register("screening-questions", catalog.ScreeningQuestionViewSet, basename="screening-question")
router.register("outcome-signs", outcomes.OutcomeSignViewSet, basename="outcome-sign")
router.register("therapists", credentials.TherapistViewSet, basename="therapist")
router.register("licenses", credentials.LicenseViewSet, basename="license")
router.register("schools", credentials.SchoolViewSet, basename="school")
router.register("authorizations", credentials.AuthorizationViewSet, basename="authorization")
router.register("instructors", credentials.InstructorViewSet, basename="instructor")
router.register("clinical-experience", credentials.ClinicalExperienceViewSet, basename="clinical-experience")
router.register("certifications", credentials.CertificationViewSet, basename="certification")
router.register("verify", credentials.VerificationViewSet, basename="verify")
router.register("spas", spas.SpaViewSet, basename="spa")
router.register("employments", spas.EmploymentViewSet, basename="employment")
router.register("intakes", bookings.IntakeViewSet, basename="intake")
router.register("bookings", bookings.BookingViewSet, basename="booking")
router.register("decisions", bookings.DecisionViewSet, basename="decision")
router.register("safety-records", outcomes.SafetyRecordViewSet, basename="safety-record")
router.register("webhooks", webhooks.WebhookViewSet, basename="webhook")
router.register("imports", imports.ImportViewSet, basename="import")

v1 = [
    path("me/", accounts.MeView.as_view(), name="me"),
    path("tokens/rotate/", accounts.TokenRotateView.as_view(), name="token-rotate"),
    path("tokens/current/", accounts.CurrentTokenView.as_view(), name="token-current"),
    path("eligibility/check/", bookings.EligibilityCheckView.as_view(), name="eligibility-check"),
    path("eligibility/search/", bookings.EligibilitySearchView.as_view(), name="eligibility-search"),
    *router.urls,
]

urlpatterns = [
    path("api/v1/", include(v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # Session login for the browsable API; sign-in attempts are throttled ("login").
    path("api-auth/login/", accounts.ThrottledLoginView.as_view(), name="api-login"),
    path("api-auth/", include("rest_framework.urls")),
    path("", include("api.urls_vc")),
    # Last: any other /api/ path is a 404 problem, not Django's HTML page.
    re_path(r"^api/", api_not_found),
]
