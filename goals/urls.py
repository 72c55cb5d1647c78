from django.urls import path

from goals import views

app_name = "goals"
urlpatterns = [
    path("", views.goal_tree, name="tree"),
    path("new/", views.goal_new, name="new"),
    path("<id:goal_id>/", views.goal_detail, name="detail"),
    path("<id:goal_id>/edit/", views.goal_edit, name="edit"),
    path("teams/", views.team_list, name="teams"),
    path("teams/<id:team_id>/", views.team_detail, name="team"),
    path("teams/<id:team_id>/members/", views.team_member_add_view, name="team-member-add"),
    path("teams/<id:team_id>/members/<id:membership_id>/", views.team_member_change, name="team-member-change"),
]
