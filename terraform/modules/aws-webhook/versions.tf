terraform {
  # `optional()` object attributes with defaults (1.3), preconditions (1.2).
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.29: `invoked_via_function_url` on aws_lambda_permission, which function URLs created
      # since October 2025 need (lambda:InvokeFunction besides lambda:InvokeFunctionUrl).
      version = ">= 6.29.0, < 7.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5.0, < 4.0.0"
    }
  }
}
