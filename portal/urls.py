from django.urls import path

from portal import data_views, questionnaire_views, views

urlpatterns = [
    path("portal/", views.start, name="portal-start"),
    path("portal/link-sent/", views.link_sent, name="portal-link-sent"),
    path("portal/sign-in/<path:token>/", views.sign_in, name="portal-sign-in"),
    path("portal/sign-out/", views.sign_out, name="portal-sign-out"),
    path("portal/home/", views.home, name="portal-home"),
    path("portal/letters/", views.letters, name="portal-letters"),
    path("portal/letters/<uuid:public_id>/pdf/", views.letter_pdf, name="portal-letter-pdf"),
    path("portal/choices/", views.choices, name="portal-choices"),
    path("portal/choices/contact/", views.contact, name="portal-contact"),
    path("portal/choices/<str:topic>/", views.choice_change, name="portal-choice-change"),
    path("portal/withdraw/", views.withdraw, name="portal-withdraw"),
    path("portal/withdrawn/", views.withdrawn, name="portal-withdrawn"),
    # Your data: a copy to download, and corrections (portal/data_views.py).
    path("portal/my-data/", data_views.my_data, name="portal-my-data"),
    path("portal/my-data/copy.json", data_views.my_data_json, name="portal-my-data-json"),
    path("portal/my-data/copy.pdf", data_views.my_data_pdf, name="portal-my-data-pdf"),
    path("portal/correction/", data_views.correction, name="portal-correction"),
    path("portal/whole-record/", data_views.whole_record, name="portal-whole-record"),
]

# Questionnaires and the client's own scores (portal/questionnaire_views.py).
urlpatterns += questionnaire_views.urlpatterns
