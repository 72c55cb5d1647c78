from django.urls import path

from goals import apis

urlpatterns = [
    path("goals/", apis.GoalListCreateApi.as_view(), name="goal-list"),
    path("goals/<id:goal_id>/", apis.GoalDetailApi.as_view(), name="goal-detail"),
    path("goals/<id:goal_id>/progress/", apis.GoalProgressApi.as_view(), name="goal-progress"),
    path("teams/", apis.TeamListCreateApi.as_view(), name="team-list"),
    path("teams/<id:team_id>/members/", apis.TeamMemberAddApi.as_view(), name="team-member-add"),
    path("teams/<id:team_id>/members/<id:membership_id>/", apis.TeamMemberApi.as_view(), name="team-member"),
]
