"""The pages' routes (namespace ``web``): signing in and out, each role's home, the front desk.
The public verification pages are routed in ``registry.urls``."""

from django.urls import path

from registry.web import auth, frontdesk

app_name = "web"

urlpatterns = [
    path("", auth.home, name="root"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("home/", auth.home, name="home"),
    path("school/", auth.school_home, name="school-home"),
    path("therapist/", auth.therapist_home, name="therapist-home"),
    path("registry-admin/", auth.registry_admin_home, name="registry-admin-home"),
    # the front desk (spa staff)
    path("front-desk/", frontdesk.home, name="frontdesk"),
    path("front-desk/intakes/new/", frontdesk.intake_new, name="intake-new"),
    path("front-desk/intakes/conditions/", frontdesk.intake_conditions, name="intake-conditions"),
    path("front-desk/intakes/questions/", frontdesk.intake_questions, name="intake-questions"),
    path("front-desk/intakes/<uuid:pk>/", frontdesk.intake_detail, name="intake"),
    path("front-desk/intakes/<uuid:pk>/book/", frontdesk.intake_book, name="intake-book"),
    path("front-desk/bookings/<uuid:pk>/", frontdesk.booking_detail, name="booking"),
    path("front-desk/bookings/<uuid:pk>/reassign/", frontdesk.booking_reassign_view, name="booking-reassign"),
    path("front-desk/bookings/<uuid:pk>/cancel/", frontdesk.booking_cancel_view, name="booking-cancel"),
]
