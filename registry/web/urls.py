"""The pages' routes (namespace ``web``): signing in and out, each role's home, the front desk,
the school office, the therapist's page and registry staff's pages. The public verification
pages are routed in ``registry.urls``."""

from django.urls import path

from registry.web import auth, coverage, frontdesk, school, staff, therapist

app_name = "web"

urlpatterns = [
    path("", auth.home, name="root"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("home/", auth.home, name="home"),
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
    path("front-desk/coverage/", coverage.spa_coverage_page, name="spa-coverage"),
    path("front-desk/coverage/<slug:table>.csv", coverage.spa_coverage_csv, name="spa-coverage-csv"),
    path("front-desk/bookings/<uuid:pk>/outcome/", frontdesk.booking_outcome_view, name="booking-outcome"),
    path(
        "front-desk/bookings/<uuid:pk>/adverse-events/",
        frontdesk.booking_adverse_event_view,
        name="booking-adverse-event",
    ),
    # the school office (school staff: their own school)
    path("school/", school.home, name="school-home"),
    path("school/instructors/", school.instructors, name="school-instructors"),
    path("school/certifications/", school.certifications, name="school-certifications"),
    path("school/certifications/new/", school.certification_new, name="school-certification-new"),
    path("school/certifications/<uuid:pk>/", school.certification_detail, name="school-certification"),
    path(
        "school/certifications/<uuid:pk>/revoke/",
        school.certification_revoke_view,
        name="school-certification-revoke",
    ),
    path("school/reviews/", school.reviews, name="school-reviews"),
    path("school/safety/", school.safety, name="school-safety"),
    path("school/imports/", school.imports, name="school-imports"),
    path("school/imports/<uuid:pk>/", school.import_detail, name="school-import"),
    path("school/demand/", coverage.school_demand_page, name="school-demand"),
    path("school/demand.csv", coverage.school_demand_csv, name="school-demand-csv"),
    # the therapist's own page
    path("therapist/", therapist.home, name="therapist-home"),
    # registry staff
    path("registry-admin/", staff.home, name="registry-admin-home"),
    path("registry-admin/reviews/", staff.reviews, name="staff-reviews"),
    path("registry-admin/reviews/<uuid:pk>/", staff.review_decide, name="staff-review-decide"),
    path("registry-admin/experience/", staff.experience, name="staff-experience"),
    path(
        "registry-admin/experience/instructor/",
        staff.experience_instructor,
        name="staff-experience-instructor",
    ),
]
